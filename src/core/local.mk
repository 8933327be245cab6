# src/core/ fragment: the command line (options) module, added to src/libmoxi.a,
# and the manual page that documents it.
src_libmoxi_a_SOURCES += \
	src/core/options.h \
	src/core/options.cc

man_MANS += man/moxi.1
EXTRA_DIST += man/moxi.1
