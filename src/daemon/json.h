/* json.h - just enough JSON for EBT's flat replies: escape strings, read numbers and strings. */
#ifndef EBTD_JSON_H
#define EBTD_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Escape s into out as JSON string content (no quotes). Always NUL-terminates; truncates. */
void ebt_json_escape(const char *s, char *out, size_t cap);
/* Find "key": in a flat JSON object and read its number / string. 0 or -ENOENT / -EINVAL. */
int ebt_json_get_u64(const char *json, const char *key, uint64_t *out);
int ebt_json_get_double(const char *json, const char *key, double *out);
int ebt_json_get_str(const char *json, const char *key, char *out, size_t cap);

#endif
