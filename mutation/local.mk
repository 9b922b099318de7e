# The mutation check (docs/mutation.md): `make mutation` builds broken
# variants of the reference library, one per mutation/mutants/*.patch, and
# runs the conformance suite against each through the outside-implementation
# path (configure MPROC_IMPL_CFLAGS / MPROC_IMPL_LIBS).  Not part of `make
# check` (minutes); `make mutation MUTANTS="01-lock-... 02-..."` runs some.
# What `make check` does run: every patch still applies to ref/.
mutation_work = $(abs_top_builddir)/mutation/work
mutation:
	MUT_SRCDIR='$(abs_top_srcdir)' MUT_WORK='$(mutation_work)' \
	MUT_CC='$(CC)' \
	MUT_CFLAGS='$(DEFS) -I$(abs_top_builddir) $(MPROC_CFLAGS) $(CFLAGS) $(MSGPACK_CFLAGS)' \
	MUT_LIBS='$(MSGPACK_LIBS) $(PTHREAD_LIBS) $(LIBS)' \
	MUT_SOURCES='$(filter %.c,$(ref_libmproc_la_SOURCES))' \
	MUT_CONFIGURE="CC='$(CC)' CFLAGS='$(CFLAGS)'" MAKE='$(MAKE)' \
	  nice -n 5 $(SHELL) $(top_srcdir)/mutation/run $(MUTANTS)
clean-mutation:
	-chmod -R u+w mutation/work 2>/dev/null; rm -rf mutation/work
clean-local: clean-mutation
.PHONY: mutation clean-mutation

# The mutants: each a patch against ref/ with a header saying what it breaks.
mutation_patches = \
	mutation/mutants/01-process-exitcode-signal-positive.patch \
	mutation/mutants/02-process-terminate-sends-nothing.patch \
	mutation/mutants/03-process-daemon-survives-parent.patch \
	mutation/mutants/04-process-daemon-not-terminated-at-exit.patch \
	mutation/mutants/05-process-name-counter-not-incremented.patch \
	mutation/mutants/06-process-join-timeout-too-short.patch \
	mutation/mutants/07-process-is-alive-after-exit.patch \
	mutation/mutants/08-process-start-twice-allowed.patch \
	mutation/mutants/09-process-parent-pid-self.patch \
	mutation/mutants/10-lock-not-exclusive.patch \
	mutation/mutants/11-lock-timeout-ignored.patch \
	mutation/mutants/12-lock-rlock-count-off-by-one.patch \
	mutation/mutants/13-lock-rlock-release-by-stranger.patch \
	mutation/mutants/14-lock-release-unlocked-ok.patch \
	mutation/mutants/15-lock-dead-owner-not-detected.patch \
	mutation/mutants/16-semaphore-bound-not-enforced.patch \
	mutation/mutants/17-semaphore-poll-succeeds-at-zero.patch \
	mutation/mutants/18-semaphore-release-wakes-nobody.patch \
	mutation/mutants/19-event-clear-ignored.patch \
	mutation/mutants/20-event-set-wakes-one.patch \
	mutation/mutants/21-event-wait-timeout-reports-success.patch \
	mutation/mutants/22-condition-notify-wakes-all.patch \
	mutation/mutants/23-condition-notify-wakes-none.patch \
	mutation/mutants/24-condition-wait-without-lock.patch \
	mutation/mutants/25-condition-notify-lifo.patch \
	mutation/mutants/26-condition-wait-for-no-recheck.patch \
	mutation/mutants/27-barrier-index-repeated.patch \
	mutation/mutants/28-barrier-releases-one-early.patch \
	mutation/mutants/29-barrier-action-failure-ignored.patch \
	mutation/mutants/30-barrier-abort-not-broken.patch \
	mutation/mutants/31-value-store-wrong-width.patch \
	mutation/mutants/32-value-range-not-checked.patch \
	mutation/mutants/33-value-unsigned-read-signed.patch \
	mutation/mutants/34-value-index-off-by-one.patch \
	mutation/mutants/35-value-lock-not-shared.patch \
	mutation/mutants/36-pipe-eof-never-reported.patch \
	mutation/mutants/37-pipe-length-16-bit.patch \
	mutation/mutants/38-pipe-one-way-writable.patch \
	mutation/mutants/39-pipe-poll-ready-on-timeout.patch \
	mutation/mutants/40-pipe-wait-partial-message-ready.patch \
	mutation/mutants/41-pipe-max-message-not-enforced-on-recv.patch \
	mutation/mutants/42-queue-get-duplicates-item.patch \
	mutation/mutants/43-queue-put-drops-when-full.patch \
	mutation/mutants/44-queue-maxsize-off-by-one.patch \
	mutation/mutants/45-queue-get-timeout-too-short.patch \
	mutation/mutants/46-queue-join-waits-for-empty.patch \
	mutation/mutants/47-queue-task-done-too-often-accepted.patch \
	mutation/mutants/48-queue-task-done-not-counted.patch \
	mutation/mutants/49-queue-close-ignored.patch \
	mutation/mutants/50-queue-qsize-stale.patch \
	mutation/mutants/51-pool-imap-completion-order.patch \
	mutation/mutants/52-pool-map-completion-order.patch \
	mutation/mutants/53-pool-callback-not-called.patch \
	mutation/mutants/54-pool-error-callback-not-called.patch \
	mutation/mutants/55-pool-task-error-swallowed.patch \
	mutation/mutants/56-pool-task-error-message-lost.patch \
	mutation/mutants/57-pool-initializer-not-run.patch \
	mutation/mutants/58-pool-maxtasksperchild-ignored.patch \
	mutation/mutants/59-pool-chunksize-ignored.patch \
	mutation/mutants/60-pool-terminate-waits-for-tasks.patch \
	mutation/mutants/61-pool-submit-after-close.patch \
	mutation/mutants/62-pool-worker-death-signal-not-reported.patch \
	mutation/mutants/63-executor-shutdown-wait-not-waiting.patch \
	mutation/mutants/64-executor-as-completed-index-order.patch \
	mutation/mutants/65-executor-done-callback-skipped-when-done.patch \
	mutation/mutants/66-executor-map-timeout-ignored.patch \
	mutation/mutants/67-executor-killed-worker-not-breaking.patch \
	mutation/mutants/68-executor-cancel-running-future.patch \
	mutation/mutants/69-manager-dict-update-lost.patch \
	mutation/mutants/70-manager-queue-lifo.patch \
	mutation/mutants/71-manager-lock-reentrant-per-client.patch \
	mutation/mutants/72-manager-event-clear-ignored.patch \
	mutation/mutants/73-manager-list-negative-index-off-by-one.patch \
	mutation/mutants/74-obj-dict-set-duplicates-first-key.patch \
	mutation/mutants/75-obj-equal-ignores-float-sign.patch \
	mutation/mutants/76-obj-codec-negative-int-wrong-sign.patch

TESTS += mutation/patches.test
dist_noinst_SCRIPTS += mutation/run
EXTRA_DIST += mutation/patches.test mutation/equivalent.txt \
	$(mutation_patches)
