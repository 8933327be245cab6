# packaging/ fragment: what a system installation needs beside the binaries.
# The systemd unit and the options file it reads get the paths of this build
# (bindir, sysconfdir); the example cluster configuration, the logrotate
# snippet and the Prometheus alert rules are installed as they are.
# configure --with-systemdsystemunitdir=DIR chooses where the unit goes.
systemdsystemunit_DATA = packaging/moxi.service
moxiconfdir = $(sysconfdir)/moxi
moxiconf_DATA = packaging/moxi.conf packaging/cluster.cfg
logrotatedir = $(sysconfdir)/logrotate.d
logrotate_DATA = packaging/logrotate/moxi
prometheusdir = $(pkgdatadir)/prometheus
prometheus_DATA = packaging/moxi-alerts.yml

EXTRA_DIST += packaging/moxi.service.in packaging/moxi.conf.in packaging/cluster.cfg \
	packaging/moxi.logrotate packaging/moxi-alerts.yml packaging/moxi-alerts.test.yml
CLEANFILES += packaging/moxi.service packaging/moxi.conf packaging/logrotate/moxi

packaging_subst = sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g'
packaging/moxi.service: $(srcdir)/packaging/moxi.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging && $(packaging_subst) $(srcdir)/packaging/moxi.service.in >$@.tmp && mv $@.tmp $@
packaging/moxi.conf: $(srcdir)/packaging/moxi.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging && $(packaging_subst) $(srcdir)/packaging/moxi.conf.in >$@.tmp && mv $@.tmp $@
# Installed as logrotate.d/moxi: a copy under that name.
packaging/logrotate/moxi: $(srcdir)/packaging/moxi.logrotate
	$(AM_V_GEN)$(MKDIR_P) packaging/logrotate && cp $(srcdir)/packaging/moxi.logrotate $@
