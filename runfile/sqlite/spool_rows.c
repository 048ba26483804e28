/*
 * spool_rows: a SQLite table-valued function that turns one drained batch of events, a BLOB per
 * column (runfile/columns.ts, the event_spool row format), into event rows:
 *
 *   INSERT INTO events (ts, request_ts, ...) SELECT ts, request_ts, ... FROM spool_rows(?, ?, ...)
 *
 * Binding 12 values per row from JS, one N-API call each, was most of the recorder's cost per
 * event; this binds one value per column and the count per batch and makes the rows inside
 * SQLite. The values are the ones the JS path bound: the float64 columns as REAL (the events
 * table's INTEGER affinity stores an integral REAL as INTEGER, exactly as for a bound JS number),
 * the integer columns as INTEGER, NULL for a NaN and for a nullable integer column's negative value
 * (a nullable U32's 0).
 * The columns, their kinds and order are runfile/format.ts's (runfile_columns.h, generated).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "column_kind.h"
#include "runfile_columns.h"

/* The output columns, in the order of the events table's columns after id; then (hidden) the
 * arguments: count and a BLOB per column, in the same order. */
#define OUT_ENUM(field, key, kind, conversion, nullable) C_##field,
enum out_col { RUNFILE_EVENT_COLUMNS(OUT_ENUM) N_OUT };

#define OUT_SPEC(field, key, kind, conversion, nullable) { #field, kind, nullable },
static const struct {
	const char *name;
	enum kind kind;
	int nullable; /* an integer column's negative value is NULL, a U32's 0 (F64: NaN always is) */
} OUT[N_OUT] = { RUNFILE_EVENT_COLUMNS(OUT_SPEC) };

#define N_ARGS (1 + N_OUT)

#define OUT_NAME(field, key, kind, conversion, nullable) #field ", "
#define ARG_NAME(field, key, kind, conversion, nullable) ", a_" #field " HIDDEN"
static const char VTAB_SQL[] = "CREATE TABLE x(" RUNFILE_EVENT_COLUMNS(OUT_NAME) "count HIDDEN" RUNFILE_EVENT_COLUMNS(ARG_NAME) ")";

typedef struct {
	sqlite3_vtab_cursor base;
	sqlite3_int64 count, row;
	const unsigned char *col[N_OUT]; /* by out_col; points into the argument values, valid while the cursor is */
} cursor;

static int x_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
	int rc = sqlite3_declare_vtab(db, VTAB_SQL);
	if (rc != SQLITE_OK)
		return rc;
	*out = sqlite3_malloc(sizeof(**out));
	if (!*out)
		return SQLITE_NOMEM;
	memset(*out, 0, sizeof(**out));
	return SQLITE_OK;
}

static int x_disconnect(sqlite3_vtab *vtab)
{
	sqlite3_free(vtab);
	return SQLITE_OK;
}

/* Every argument must be given, as an equality constraint: idxNum = 1 with the arguments in order. */
static int x_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info)
{
	int seen = 0;
	for (int i = 0; i < info->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];
		int arg = c->iColumn - N_OUT;
		if (arg < 0)
			continue;
		if (!c->usable || c->op != SQLITE_INDEX_CONSTRAINT_EQ)
			return SQLITE_CONSTRAINT;
		info->aConstraintUsage[i].argvIndex = arg + 1;
		info->aConstraintUsage[i].omit = 1;
		seen++;
	}
	if (seen != N_ARGS) {
		sqlite3_free(vtab->zErrMsg);
		vtab->zErrMsg = sqlite3_mprintf("spool_rows takes %d arguments: count, then the %d BLOBs of event_spool", N_ARGS, N_OUT);
		return SQLITE_ERROR;
	}
	info->idxNum = 1;
	info->estimatedCost = 1;
	return SQLITE_OK;
}

static int x_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out)
{
	cursor *c = sqlite3_malloc(sizeof(*c));
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	*out = &c->base;
	return SQLITE_OK;
}

static int x_close(sqlite3_vtab_cursor *cur)
{
	sqlite3_free(cur);
	return SQLITE_OK;
}

static int fail(sqlite3_vtab_cursor *cur, char *msg)
{
	sqlite3_free(cur->pVtab->zErrMsg);
	cur->pVtab->zErrMsg = msg;
	return SQLITE_ERROR;
}

static int x_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc, sqlite3_value **argv)
{
	cursor *c = (cursor *)cur;
	c->row = 0;
	c->count = 0;
	if (argc != N_ARGS)
		return fail(cur, sqlite3_mprintf("spool_rows: %d arguments, expected %d", argc, N_ARGS));
	/* a JS number arrives as REAL */
	int count_type = sqlite3_value_type(argv[0]);
	sqlite3_int64 count = sqlite3_value_int64(argv[0]);
	if ((count_type != SQLITE_INTEGER && count_type != SQLITE_FLOAT) || count < 0 || (double)count != sqlite3_value_double(argv[0]))
		return fail(cur, sqlite3_mprintf("spool_rows: count must be a non-negative integer"));
	for (int col = 0; col < N_OUT; col++) {
		sqlite3_value *v = argv[1 + col];
		/* a zero-length BLOB may come as NULL data: only a batch of no events has one */
		const unsigned char *data = sqlite3_value_blob(v);
		sqlite3_int64 bytes = sqlite3_value_bytes(v);
		if (sqlite3_value_type(v) != SQLITE_BLOB && !(count == 0 && bytes == 0))
			return fail(cur, sqlite3_mprintf("spool_rows: column %s is not a BLOB", OUT[col].name));
		if (bytes != count * kind_size(OUT[col].kind))
			return fail(cur, sqlite3_mprintf("spool_rows: column %s holds %lld bytes, not %lld values of %d",
							 OUT[col].name, bytes, count, kind_size(OUT[col].kind)));
		c->col[col] = data;
	}
	c->count = count;
	return SQLITE_OK;
}

static int x_next(sqlite3_vtab_cursor *cur)
{
	((cursor *)cur)->row++;
	return SQLITE_OK;
}

static int x_eof(sqlite3_vtab_cursor *cur)
{
	cursor *c = (cursor *)cur;
	return c->row >= c->count;
}

/* The integer value at p, widened. */
static sqlite3_int64 integer_at(enum kind kind, const unsigned char *p)
{
	switch (kind) {
	case U32: { uint32_t v; memcpy(&v, p, sizeof(v)); return v; }
	case I32: { int32_t v; memcpy(&v, p, sizeof(v)); return v; }
	case U16: { uint16_t v; memcpy(&v, p, sizeof(v)); return v; }
	default: return *p;
	}
}

static int x_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	cursor *c = (cursor *)cur;
	if (col >= N_OUT)
		return SQLITE_OK; /* a hidden argument column: NULL */
	enum kind kind = OUT[col].kind;
	const unsigned char *p = c->col[col] + c->row * kind_size(kind);
	if (kind == F64) {
		double d;
		memcpy(&d, p, sizeof(d));
		if (isnan(d))
			sqlite3_result_null(ctx);
		else
			sqlite3_result_double(ctx, d);
		return SQLITE_OK;
	}
	sqlite3_int64 v = integer_at(kind, p);
	if (OUT[col].nullable && (kind == U32 ? v == 0 : v < 0))
		sqlite3_result_null(ctx);
	else
		sqlite3_result_int64(ctx, v);
	return SQLITE_OK;
}

static int x_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = ((cursor *)cur)->row;
	return SQLITE_OK;
}

static sqlite3_module spool_rows_module = {
	.iVersion = 0,
	.xConnect = x_connect, /* xCreate NULL: eponymous-only, no CREATE VIRTUAL TABLE */
	.xBestIndex = x_best_index,
	.xDisconnect = x_disconnect,
	.xOpen = x_open,
	.xClose = x_close,
	.xFilter = x_filter,
	.xNext = x_next,
	.xEof = x_eof,
	.xColumn = x_column,
	.xRowid = x_rowid,
};

int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
	SQLITE_EXTENSION_INIT2(api);
	return sqlite3_create_module(db, "spool_rows", &spool_rows_module, 0);
}
