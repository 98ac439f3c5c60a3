/*
 * transport_frame.c - frame headers: a frame is a CBOR unsigned integer
 * head giving the payload length (shortest form, 1 to max bytes), then
 * the payload (doc/protocol.md section 2).  The encoder and the quick
 * decoder of the common header are inline in transport_int.h.
 */
#include <stdio.h>

#include "transport/transport_int.h"

size_t shade_frame_header_encode(uint64_t len,
				 uint8_t out[SHADE_FRAME_HEADER_MAX])
{
	return transport_header_encode(len, out);
}

/* shade_frame_header_decode() writing its message into msg instead of an
 * error object, so the receive path can keep it as the sticky message. */
shade_status transport_header_parse(const uint8_t *buf, size_t avail,
				    size_t max, uint64_t *len, size_t *hdr_len,
				    char *msg, size_t msgsz)
{
	uint8_t ib;
	size_t n, i;
	uint64_t v = 0;
	uint64_t min;

	if (avail == 0)
		return SHADE_AGAIN;
	ib = buf[0];
	if ((ib >> 5) != 0) {
		snprintf(msg, msgsz,
			 "bad frame header: initial byte 0x%02x is not a "
			 "CBOR unsigned integer", ib);
		return SHADE_ERR_PROTOCOL;
	}
	ib &= 0x1f;
	if (ib < 24) {
		v = ib;
		n = 0;
		min = 0;
	} else if (ib <= 27) {
		n = (size_t)1 << (ib - 24);
		min = ib == 24 ? 24 : ((uint64_t)1 << (4 * n)) ;
		if (avail < 1 + n)
			return SHADE_AGAIN;
		for (i = 0; i < n; i++)
			v = (v << 8) | buf[1 + i];
	} else {
		snprintf(msg, msgsz,
			 "bad frame header: initial byte 0x%02x has reserved "
			 "additional information %u", buf[0], ib);
		return SHADE_ERR_PROTOCOL;
	}
	if (v < min) {
		snprintf(msg, msgsz,
			 "bad frame header: length %llu not in shortest form "
			 "(%zu-byte argument)", (unsigned long long)v, n);
		return SHADE_ERR_PROTOCOL;
	}
	if (v == 0) {
		snprintf(msg, msgsz, "bad frame header: zero-length frame");
		return SHADE_ERR_PROTOCOL;
	}
	*len = v;
	*hdr_len = 1 + n;
	if (v > max) {
		snprintf(msg, msgsz,
			 "frame of %llu bytes exceeds the limit of %zu bytes",
			 (unsigned long long)v, max);
		return SHADE_ERR_LIMIT;
	}
	return SHADE_OK;
}

shade_status shade_frame_header_decode(const uint8_t *buf, size_t avail,
				       size_t max, uint64_t *len,
				       size_t *hdr_len, shade_error **err)
{
	char msg[160];
	shade_status st;

	if (buf == NULL && avail > 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "frame header buffer is NULL");
	st = transport_header_parse(buf, avail, max, len, hdr_len, msg,
				    sizeof(msg));
	if (st < 0)
		return shade_error_set(err, st, "%s", msg);
	return st;
}
