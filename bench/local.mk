# bench/ build fragment (included by the top-level Makefile.am).

# vbucket/: key mapping speed (vBucket and ketama) and map parsing cost.
if HAVE_BENCHMARK
noinst_PROGRAMS += bench/bench_vbucket
bench_bench_vbucket_SOURCES = bench/bench_vbucket.cc
bench_bench_vbucket_CPPFLAGS = $(AM_CPPFLAGS) $(BENCHMARK_CFLAGS)
bench_bench_vbucket_LDADD = vbucket/libvbucket.a $(LIBMEMCACHED_LIBS) $(BENCHMARK_LIBS)
endif

# src/: a config swap, from document to every worker serving it.
if HAVE_BENCHMARK
noinst_PROGRAMS += bench/bench_swap
bench_bench_swap_SOURCES = bench/bench_swap.cc
bench_bench_swap_CPPFLAGS = $(src_libmoxi_a_CPPFLAGS) $(BENCHMARK_CFLAGS)
bench_bench_swap_LDADD = src/libmoxi.a vbucket/libvbucket.a $(LIBEVENT_LIBS) $(LIBMEMCACHED_LIBS) $(BENCHMARK_LIBS) -lpthread $(SASL_LIBS) $(LIBSSL_LIBS) $(LIBURING_LIBS)
endif
# loadgen: memcached ascii load generator used by bench/run-proxies; OpenSSL
# (configure requires it for moxi already) for its --tls-ca client mode.
noinst_PROGRAMS += bench/loadgen
bench_loadgen_SOURCES = bench/loadgen.cc
bench_loadgen_CPPFLAGS = $(AM_CPPFLAGS) $(LIBEVENT_CFLAGS) $(LIBSSL_CFLAGS)
bench_loadgen_LDADD = $(LIBEVENT_LIBS) $(LIBSSL_LIBS) -lpthread

# bench/run-proxies: the side-by-side proxy benchmark (python3). In a build
# tree it is also build/bench/run-proxies, a link to the source script that
# finds src/moxi and bench/loadgen of that tree next to itself. The stamp is
# made with loadgen, so that plain `make` provides the link.
EXTRA_DIST += bench/run-proxies bench/README.md bench/memory-budget bench/soak bench/swap-latency bench/results
EXTRA_bench_loadgen_DEPENDENCIES = bench/run-proxies.stamp
CLEANFILES += bench/run-proxies.stamp
bench/run-proxies.stamp:
	$(AM_V_GEN)$(MKDIR_P) bench && \
	if test "$(abs_srcdir)" != "$(abs_builddir)"; then \
	  ln -sf "$(abs_srcdir)/bench/run-proxies" bench/run-proxies; \
	fi && touch $@
