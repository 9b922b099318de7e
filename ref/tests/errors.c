/* The error list: every code has a distinct name and message, unknown
 * codes are named as such, and the implementation names itself. */
#include <check.h>
#include <mproc.h>
#include <stdio.h>
#include <string.h>

static const struct {
  int code;
  const char *name;
} codes[] = {
    {0, "OK"},
#define ROW(n, v, m) {MPROC_##n, #n},
    MPROC_ERRNO_MAP(ROW)
#undef ROW
};

START_TEST(errors_have_distinct_names_and_messages) {
  size_t n = sizeof codes / sizeof codes[0];
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_eq(mproc_err_name(codes[i].code), codes[i].name);
    ck_assert_str_ne(mproc_strerror(codes[i].code), "unknown error");
    for (size_t j = 0; j < i; j++) {
      ck_assert_int_ne(codes[i].code, codes[j].code);
      ck_assert_str_ne(mproc_strerror(codes[i].code),
                       mproc_strerror(codes[j].code));
    }
  }
}
END_TEST

START_TEST(errors_unknown_codes_are_named_unknown) {
  ck_assert_str_eq(mproc_err_name(-1000), "UNKNOWN");
  ck_assert_str_eq(mproc_strerror(-1000), "unknown error");
  ck_assert_str_eq(mproc_err_name(5), "UNKNOWN");
}
END_TEST

START_TEST(errors_implementation_names_itself) {
  const char *impl = mproc_implementation();
  ck_assert_ptr_nonnull(impl);
  ck_assert(strncmp(impl, "mproc-ref ", 10) == 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("errors");
  TCase *tc = tcase_create("errors");
  tcase_add_test(tc, errors_have_distinct_names_and_messages);
  tcase_add_test(tc, errors_unknown_codes_are_named_unknown);
  tcase_add_test(tc, errors_implementation_names_itself);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  printf("%d passed, %d failed\n", run - failed, failed);
  return failed == 0 ? 0 : 1;
}
