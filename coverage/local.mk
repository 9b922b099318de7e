# make coverage: run everything that exercises the library, then let gcovr
# write the reports under coverage/ and enforce the thresholds.  Needs
# ./configure --enable-coverage.  Only the library's own sources count.
COVERAGE_LINE_MIN = 95
COVERAGE_BRANCH_MIN = 85
COVERAGE_OUT = $(top_builddir)/coverage

GCOVR_FLAGS = --root $(top_srcdir) --object-directory $(top_builddir) \
	--filter '$(abs_top_srcdir)/ref/' --exclude '$(abs_top_srcdir)/ref/tests/' \
	--exclude-unreachable-branches \
	--exclude-throw-branches --gcov-ignore-parse-errors

if COVERAGE
coverage:
	find $(top_builddir) -name '*.gcda' -delete
	$(MAKE) $(AM_MAKEFLAGS) check
	$(MKDIR_P) $(COVERAGE_OUT)/html
	$(GCOVR) $(GCOVR_FLAGS) \
	  --html-details $(COVERAGE_OUT)/html/index.html \
	  --cobertura $(COVERAGE_OUT)/coverage.xml \
	  --json-summary-pretty --json-summary $(COVERAGE_OUT)/summary.json \
	  --txt $(COVERAGE_OUT)/files.txt \
	  --fail-under-line $(COVERAGE_LINE_MIN) \
	  --fail-under-branch $(COVERAGE_BRANCH_MIN) \
	  --print-summary | tee $(COVERAGE_OUT)/summary.txt
	@cat $(COVERAGE_OUT)/files.txt
else
coverage:
	@echo "make coverage needs: ./configure --enable-coverage" >&2; exit 1
endif

clean-local: clean-coverage
clean-coverage:
	-rm -rf $(COVERAGE_OUT)/html $(COVERAGE_OUT)/coverage.xml \
	  $(COVERAGE_OUT)/summary.json $(COVERAGE_OUT)/summary.txt \
	  $(COVERAGE_OUT)/files.txt
	-find $(top_builddir) -name '*.gcda' -delete

.PHONY: coverage clean-coverage
