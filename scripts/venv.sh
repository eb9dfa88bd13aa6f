# Sourced by test.sh and lint.sh: the project virtualenv with the package and its [test] extra installed.
VENV="${JRA_TEST_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'
export PATH="$PWD/$VENV/bin:$PATH"
