"""One TestClient run of the ecosystem suite, in a fresh interpreter (see conftest.py).

    python _driver.py FRAMEWORK PROJECT_DIR TEST_FILE EXERCISE

FRAMEWORK is turboapi, alias or reference. The app is PROJECT_DIR/main.py; EXERCISE is the name of
the function in TEST_FILE that drives it. What it returns is printed as one JSON line after
RESULT_MARK; an exception ends the process with its traceback on stderr.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys

RESULT_MARK = "ECOSYSTEM-RESULT "


def main() -> None:
    framework, project, test_file, exercise_name = sys.argv[1:]
    # This script's folder (for observe.py) goes last: the app's modules and the libraries come first.
    sys.path.append(sys.path.pop(0))
    if framework == "alias":
        import turboapi.alias

        turboapi.alias.install()

    os.chdir(project)
    sys.path.insert(0, project)
    spec = importlib.util.spec_from_file_location("ecosystem_case", test_file)
    assert spec is not None and spec.loader is not None
    case = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(case)
    exercise = getattr(case, exercise_name)

    app = importlib.import_module("main").app
    if framework == "turboapi":
        from turboapi.testclient import TestClient
    else:
        # In alias mode this is turboapi's TestClient, as a FastAPI app's own tests would get it.
        from fastapi.testclient import TestClient

    with TestClient(app) as client:
        result = exercise(client)
    sys.stdout.write(RESULT_MARK + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
