/*
 * log.c - tracing: the levels, the sink and the SHADE_TRACE syntax
 * (shade/log.h, log_int.h).
 *
 * State: `levels` (the chosen levels, packed as in log_mask_), `chosen`
 * (SHADE_TRACE or shade_trace_set() chose them), the callback and its
 * udata, all under `mu`.  log_mask_ is derived from them after every
 * change: the levels when a callback is set or the levels were chosen
 * (standard error receives them), else 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include "base/log_int.h"

uint32_t log_mask_;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static uint32_t levels;      /* chosen levels (packed) */
static bool chosen;          /* levels set by SHADE_TRACE or trace_set */
static shade_log_fn sink;    /* the callback, or NULL */
static void *sink_udata;     /* its udata */

static const char *const names[SHADE_LOG_CATEGORIES_] = {
	"errors", "messages", "lifetimes"
};

/* The highest level a category takes. */
#define MAX_LEVEL 3

const char *shade_log_category_name(shade_log_category cat)
{
	return (unsigned)cat < SHADE_LOG_CATEGORIES_ ? names[cat] : "?";
}

/* Recompute log_mask_ (mu held). */
static void publish(void)
{
	uint32_t m = (sink != NULL || chosen) ? levels : 0;

	__atomic_store_n(&log_mask_, m, __ATOMIC_RELAXED);
}

/* Parse spec into *out (packed levels); on failure *bad is the word that
 * did not parse (a talloc string on NULL) and the result is false. */
static bool parse_spec(const char *spec, uint32_t *out, char **bad)
{
	const char *p = spec;
	uint32_t m = 0;

	while (*p != '\0') {
		size_t n = strcspn(p, ","), name_len = strcspn(p, ",:");
		long lvl = 1;
		int c, hit = -1;

		if (name_len < n) {
			char *stop;

			errno = 0;
			lvl = strtol(p + name_len + 1, &stop, 10);
			if (stop != p + n || stop == p + name_len + 1 ||
			    lvl < 0 || lvl > MAX_LEVEL)
				goto bad;
		}
		if (n == 0) {
			p++;
			continue;
		}
		if (name_len == 3 && strncmp(p, "off", 3) == 0 &&
		    name_len == n) {
			m = 0;
			hit = 0;
		}
		for (c = 0; c < SHADE_LOG_CATEGORIES_ && hit < 0; c++)
			if (strlen(names[c]) == name_len &&
			    strncmp(p, names[c], name_len) == 0)
				hit = c;
		if (hit < 0 && name_len == 3 && strncmp(p, "all", 3) == 0) {
			for (c = 0; c < SHADE_LOG_CATEGORIES_; c++) {
				m &= ~(UINT32_C(15) << (4 * c));
				m |= (uint32_t)lvl << (4 * c);
			}
		} else if (hit < 0) {
			goto bad;
		} else if (!(name_len == 3 && strncmp(p, "off", 3) == 0)) {
			m &= ~(UINT32_C(15) << (4 * hit));
			m |= (uint32_t)lvl << (4 * hit);
		}
		p += n;
		if (*p == ',')
			p++;
		continue;
bad:
		*bad = talloc_strndup(NULL, p, n);
		return false;
	}
	*out = m;
	return true;
}

/* pthread_once body: read SHADE_TRACE. */
static void init_once(void)
{
	const char *env = getenv("SHADE_TRACE");
	char *bad = NULL;
	uint32_t m;

	if (env == NULL || *env == '\0')
		return;
	if (!parse_spec(env, &m, &bad)) {
		fprintf(stderr, "shade[%ld]: SHADE_TRACE: '%s' is not "
			"CATEGORY[:LEVEL] (categories: errors, messages, "
			"lifetimes, all; levels 0-3); tracing stays off\n",
			(long)getpid(), bad ? bad : "?");
		talloc_free(bad);
		return;
	}
	pthread_mutex_lock(&mu);
	levels = m;
	chosen = true;
	publish();
	pthread_mutex_unlock(&mu);
}

void log_init(void)
{
	pthread_once(&once, init_once);
}

void shade_log_set(shade_log_fn fn, void *udata)
{
	log_init();
	pthread_mutex_lock(&mu);
	sink = fn;
	sink_udata = udata;
	if (fn != NULL && !chosen)
		levels = 1; /* errors:1 */
	publish();
	pthread_mutex_unlock(&mu);
}

shade_status shade_trace_set(const char *spec, shade_error **err)
{
	char *bad = NULL;
	uint32_t m;

	if (spec == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "trace: NULL spec");
	log_init();
	if (!parse_spec(spec, &m, &bad)) {
		shade_error_set(err, SHADE_ERR_INVALID,
				"trace: '%s' is not CATEGORY[:LEVEL] "
				"(categories: errors, messages, lifetimes, "
				"all; levels 0-3)", bad ? bad : "?");
		talloc_free(bad);
		return SHADE_ERR_INVALID;
	}
	pthread_mutex_lock(&mu);
	levels = m;
	chosen = true;
	publish();
	pthread_mutex_unlock(&mu);
	return SHADE_OK;
}

int log_enabled(shade_log_category cat, int lvl)
{
	uint32_t m = __atomic_load_n(&log_mask_, __ATOMIC_RELAXED);

	return (int)((m >> (4 * cat)) & 15) >= lvl;
}

int shade_log_level(shade_log_category cat)
{
	uint32_t m = __atomic_load_n(&log_mask_, __ATOMIC_RELAXED);

	if ((unsigned)cat >= SHADE_LOG_CATEGORIES_)
		return 0;
	return (int)((m >> (4 * cat)) & 15);
}

void log_emit(shade_log_category cat, int lvl, const char *fmt, ...)
{
	shade_log_fn fn;
	void *udata;
	va_list ap;
	char *line;

	if (!log_enabled(cat, lvl))
		return;
	pthread_mutex_lock(&mu);
	fn = sink;
	udata = sink_udata;
	pthread_mutex_unlock(&mu);
	va_start(ap, fmt);
	line = talloc_vasprintf(NULL, fmt, ap);
	va_end(ap);
	if (line == NULL)
		return;
	if (fn != NULL)
		fn(udata, cat, lvl, line);
	else
		fprintf(stderr, "shade[%ld] %s: %s\n", (long)getpid(),
			names[cat], line);
	talloc_free(line);
}
