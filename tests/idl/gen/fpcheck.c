/*
 * fpcheck.c - linked with the generated bank.c by test_idlc_gen: the
 * fingerprints shade-idlc computed must equal the runtime's.
 */
#include <stdio.h>

#include "bank.h"

int main(void)
{
	const shade_shape_desc *shapes[] = { &bank_Base_shape,
					     &bank_Account_shape,
					     &bank_Ledger_shape,
					     &broker_Dealer_shape,
					     &broker_Bank_shape };
	size_t i;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		uint64_t fp = 0;
		if (shade_shape_fingerprint(shapes[i], &fp, NULL) != SHADE_OK ||
		    fp != shapes[i]->fingerprint) {
			fprintf(stderr, "%s: %llx != %llx\n", shapes[i]->name,
				(unsigned long long)fp,
				(unsigned long long)shapes[i]->fingerprint);
			return 1;
		}
	}
	return bank_Account_withdraw_INDEX == 3 ? 0 : 1;
}
