# The browser extension: installable zips for Chromium and Firefox in dist/.
extension: venv
	$(PY) scripts/build_extension.py
# Color emoji for the browser tests' panel screenshots (posts and replies carry emoji; without it they are boxes).
APT_PACKAGES += fonts-noto-color-emoji
