/*
 * The element types of the run file's event columns, as the ring-buffer drain and JavaScript's
 * typed arrays hold them (runfile/format.ts ColumnType, runfile/columns.ts ARRAY_TYPES): what
 * spool_rows reads from a spooled batch's BLOBs and pack_columns writes into a chunk's BLOB.
 */
#ifndef RUNFILE_COLUMN_KIND_H
#define RUNFILE_COLUMN_KIND_H

enum kind { F64, U32, I32, U16, U8 };

static inline int kind_size(enum kind k)
{
	switch (k) {
	case F64: return 8;
	case U32: case I32: return 4;
	case U16: return 2;
	default: return 1;
	}
}

#endif
