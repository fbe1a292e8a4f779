/*
 * test_srcport.c: the choice of upstream source ports (common/srcport.c):
 * the kernel's range is honoured, reserved ports are never handed out,
 * the cursor wraps, and a fully reserved range yields no port.
 */
#include <stdlib.h>

#include "srcport.h"
#include "unit.h"

static struct srcports *
parsed(const char *range, const char *reserved)
{
	struct srcports *sp = calloc(1, sizeof(*sp));

	CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
	CU_ASSERT_EQUAL(srcports_parse(sp, range, reserved), 0);
	return sp;
}

static void
test_range_and_wrap(void)
{
	struct srcports *sp = parsed("40000 40002\n", "\n");
	uint32_t cursor = 0;

	CU_ASSERT_EQUAL(srcports_next(sp, &cursor), 40000);
	CU_ASSERT_EQUAL(srcports_next(sp, &cursor), 40001);
	CU_ASSERT_EQUAL(srcports_next(sp, &cursor), 40002);
	CU_ASSERT_EQUAL(srcports_next(sp, &cursor), 40000);
	free(sp);
}

static void
test_reserved_skipped(void)
{
	struct srcports *sp = parsed("40000 40009", "40001-40003,40005\n");
	uint32_t cursor = 0;
	uint16_t want[] = { 40000, 40004, 40006, 40007, 40008, 40009, 40000 };
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CU_ASSERT_EQUAL(srcports_next(sp, &cursor), want[i]);
	free(sp);
}

static void
test_all_reserved(void)
{
	struct srcports *sp = parsed("40000 40002", "39000-41000");
	uint32_t cursor = 7;

	CU_ASSERT_EQUAL(srcports_next(sp, &cursor), 0);
	free(sp);
}

static void
test_bad_range(void)
{
	struct srcports *sp = calloc(1, sizeof(*sp));

	CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
	CU_ASSERT_EQUAL(srcports_parse(sp, "60000 50000", NULL), -1);
	CU_ASSERT_EQUAL(srcports_parse(sp, "0 100", NULL), -1);
	CU_ASSERT_EQUAL(srcports_parse(sp, "x", NULL), -1);
	CU_ASSERT_EQUAL(srcports_parse(sp, NULL, NULL), -1);
	/* The kernel's defaults stay in place. */
	CU_ASSERT_EQUAL(sp->lo, 32768);
	CU_ASSERT_EQUAL(sp->hi, 60999);
	free(sp);
}

void
unit_register_srcport(void)
{
	CU_pSuite s;

	s = CU_add_suite("srcport", NULL, NULL);
	CU_add_test(s, "range and wrap", test_range_and_wrap);
	CU_add_test(s, "reserved ports skipped", test_reserved_skipped);
	CU_add_test(s, "all reserved", test_all_reserved);
	CU_add_test(s, "bad range", test_bad_range);
}
