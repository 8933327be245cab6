# src/config/ fragment: the command line (options, -Z keys, cluster sources,
# help), added to src/libmoxi.a, and the manual page that documents it.
EXTRA_DIST += src/config/README.md
src_libmoxi_a_SOURCES += \
	src/config/text.h src/config/text.cc \
	src/config/secrets.h \
	src/config/behaviors.h src/config/behaviors.cc \
	src/config/behavior_table.h src/config/behavior_table.cc \
	src/config/cluster_source.h src/config/cluster_source.cc \
	src/config/options.h src/config/options.cc \
	src/config/help.h src/config/help.cc \
	src/config/url_source_options.h src/config/url_source_options.cc

man_MANS += man/moxi.1
EXTRA_DIST += man/moxi.1
