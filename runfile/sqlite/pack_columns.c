/*
 * pack_columns: a SQLite aggregate that packs the rows it steps over into one BLOB, a column after
 * another, each value in its JavaScript typed array's element type (little-endian, this machine's
 * layout), so the analyzer's reader (runfile/reader.ts) reads a chunk of events as one value and
 * copies each column with one memcpy:
 *
 *   SELECT count(*), pack_columns('f64 0 _ _;i32 0 -2147483648 2147483647;...', id, ts, ret, ...)
 *   FROM events WHERE id BETWEEN ? AND ?
 *
 * Turning each row into text (printf, then unhex) cost ~1 µs per row; SQLite's own scan of the
 * same columns ~0.3 µs.
 *
 * The first argument says, per following argument, separated by ';': its element type (f64, i32,
 * u32, u16, u8), the value a NULL takes ("nan" for f64's none, else an integer), and the range the
 * value must be in ("_ _": none). A value is read as sqlite3_value_int64 reads it (a REAL's integer
 * part, a TEXT's leading integer). A value outside its range makes the statement fail with
 * "pack_columns: argument N: VALUE outside MIN to MAX" (the reader then says which event it was).
 * An f64 is the 64-bit integer as a double: exact below 2^53, as times and canonical addresses are.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "column_kind.h"

#define MAX_FIELDS 32

struct field {
	enum kind kind;
	int null_is_nan;
	sqlite3_int64 null_value;
	int checked;
	sqlite3_int64 min, max;
};

struct packing {
	int fields; /* 0 until the first row parsed the spec */
	struct field field[MAX_FIELDS];
	unsigned char *column[MAX_FIELDS];
	sqlite3_int64 rows, capacity;
};

static int parse_kind(const char *s, enum kind *out)
{
	static const struct { const char *name; enum kind kind; } KINDS[] = {
		{ "f64", F64 }, { "i32", I32 }, { "u32", U32 }, { "u16", U16 }, { "u8", U8 },
	};
	for (size_t i = 0; i < sizeof(KINDS) / sizeof(KINDS[0]); i++) {
		if (strcmp(s, KINDS[i].name) == 0) {
			*out = KINDS[i].kind;
			return 1;
		}
	}
	return 0;
}

static int parse_int(const char *s, sqlite3_int64 *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return 0;
	*out = v;
	return 1;
}

/* One field of the spec: "TYPE NULL MIN MAX". */
static int parse_field(char *text, struct field *f)
{
	char type[8], null[24], min[24], max[24];
	if (sscanf(text, " %7s %23s %23s %23s", type, null, min, max) != 4 || !parse_kind(type, &f->kind))
		return 0;
	f->null_is_nan = strcmp(null, "nan") == 0;
	if (f->null_is_nan ? f->kind != F64 : !parse_int(null, &f->null_value))
		return 0;
	f->checked = strcmp(min, "_") != 0;
	if (f->checked != (strcmp(max, "_") != 0))
		return 0;
	return !f->checked || (parse_int(min, &f->min) && parse_int(max, &f->max) && f->min <= f->max);
}

static int parse_spec(sqlite3_context *ctx, struct packing *p, const char *spec, int values)
{
	if (spec == NULL || values < 1 || values > MAX_FIELDS) {
		sqlite3_result_error(ctx, "pack_columns: the first argument must be the columns' spec, then 1 to 32 values", -1);
		return 0;
	}
	char *copy = sqlite3_mprintf("%s", spec);
	if (copy == NULL) {
		sqlite3_result_error_nomem(ctx);
		return 0;
	}
	int n = 0;
	char *save = NULL;
	for (char *part = strtok_r(copy, ";", &save); part != NULL; part = strtok_r(NULL, ";", &save)) {
		if (n == values || !parse_field(part, &p->field[n])) {
			n = -1;
			break;
		}
		n++;
	}
	sqlite3_free(copy);
	if (n != values) {
		sqlite3_result_error(ctx, "pack_columns: the spec must give 'TYPE NULL MIN MAX' for each value argument", -1);
		return 0;
	}
	p->fields = n;
	return 1;
}

static int grow(sqlite3_context *ctx, struct packing *p)
{
	sqlite3_int64 capacity = p->capacity ? 2 * p->capacity : 4096;
	for (int i = 0; i < p->fields; i++) {
		unsigned char *bigger = sqlite3_realloc64(p->column[i], capacity * kind_size(p->field[i].kind));
		if (bigger == NULL) {
			sqlite3_result_error_nomem(ctx);
			return 0;
		}
		p->column[i] = bigger;
	}
	p->capacity = capacity;
	return 1;
}

static void step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct packing *p = sqlite3_aggregate_context(ctx, sizeof(struct packing));
	if (p == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (p->fields == 0 && !parse_spec(ctx, p, (const char *)sqlite3_value_text(argv[0]), argc - 1))
		return;
	if (p->rows == p->capacity && !grow(ctx, p))
		return;
	for (int i = 0; i < p->fields; i++) {
		const struct field *f = &p->field[i];
		sqlite3_value *value = argv[i + 1];
		int null = sqlite3_value_type(value) == SQLITE_NULL;
		sqlite3_int64 v = null ? f->null_value : sqlite3_value_int64(value);
		if (!null && f->checked && (v < f->min || v > f->max)) {
			char *message = sqlite3_mprintf("pack_columns: argument %d: %lld outside %lld to %lld", i + 2, v, f->min, f->max);
			sqlite3_result_error(ctx, message ? message : "pack_columns: a value out of its range", -1);
			sqlite3_free(message);
			return;
		}
		unsigned char *at = p->column[i] + p->rows * kind_size(f->kind);
		switch (f->kind) {
		case F64: {
			double d = null && f->null_is_nan ? NAN : (double)v;
			memcpy(at, &d, sizeof(d));
			break;
		}
		case I32: {
			int32_t x = (int32_t)v;
			memcpy(at, &x, sizeof(x));
			break;
		}
		case U32: {
			uint32_t x = (uint32_t)v;
			memcpy(at, &x, sizeof(x));
			break;
		}
		case U16: {
			uint16_t x = (uint16_t)v;
			memcpy(at, &x, sizeof(x));
			break;
		}
		case U8:
			*at = (unsigned char)v;
			break;
		}
	}
	p->rows++;
}

static void release(struct packing *p)
{
	for (int i = 0; i < p->fields; i++)
		sqlite3_free(p->column[i]);
}

/* The columns one after another, each rows * its type's size bytes; NULL when no row was stepped. */
static void final(sqlite3_context *ctx)
{
	struct packing *p = sqlite3_aggregate_context(ctx, 0);
	if (p == NULL || p->rows == 0) {
		if (p != NULL)
			release(p);
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_int64 bytes = 0;
	for (int i = 0; i < p->fields; i++)
		bytes += p->rows * kind_size(p->field[i].kind);
	unsigned char *out = sqlite3_malloc64(bytes);
	if (out == NULL) {
		release(p);
		sqlite3_result_error_nomem(ctx);
		return;
	}
	unsigned char *at = out;
	for (int i = 0; i < p->fields; i++) {
		sqlite3_int64 n = p->rows * kind_size(p->field[i].kind);
		memcpy(at, p->column[i], n);
		at += n;
	}
	release(p);
	sqlite3_result_blob64(ctx, out, bytes, sqlite3_free);
}

int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
	SQLITE_EXTENSION_INIT2(api);
	return sqlite3_create_function_v2(db, "pack_columns", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, 0, 0, step, final, 0);
}
