/* Small helpers shared by every module. */
#ifndef IVR_UTIL_H
#define IVR_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Appends printf output at *off, never past size; on truncation *off ends >= size. */
void str_appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Monotonic and wall-clock time in milliseconds. */
int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);
/* Monotonic time in microseconds (media pacing). */
int64_t clock_mono_us(void);

#endif
