# The browser extension: installable zips for Chromium and Firefox in dist/.
extension: venv
	$(PY) scripts/build_extension.py
