"""Everything the tests share: paths, servers (in-process and real processes), the fake model, browser, desktop,
packs and console helpers, the load driver. Test modules import from here, never from one another."""
