/*
 * replay_main.c - a main() for running a fuzz target without libFuzzer:
 * every file named on the command line, or found (not recursively) in a
 * directory named there, goes once through LLVMFuzzerTestOneInput().
 * Used by `make fuzz-cov` for coverage builds.  Prints the number of
 * inputs run; exits 1 when an argument cannot be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one file through the target; 0 or -1 when it cannot be read. */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned runs = 0;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		struct stat sb;
		DIR *dir;
		struct dirent *de;

		if (stat(argv[i], &sb) != 0)
			continue; /* an absent directory is an empty one */
		if (!S_ISDIR(sb.st_mode)) {
			rc |= run_file(argv[i]) != 0;
			runs++;
			continue;
		}
		dir = opendir(argv[i]);
		if (dir == NULL) {
			rc = 1;
			continue;
		}
		while ((de = readdir(dir)) != NULL) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 de->d_name);
			rc |= run_file(path) != 0;
			runs++;
		}
		closedir(dir);
	}
	printf("%s: %u inputs\n", argv[0], runs);
	return rc;
}
