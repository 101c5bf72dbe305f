"""`python -m wizard` is the same as the `nginx-502-wizard` command."""

import os
import sys

# `python -m` puts the working directory first on sys.path, so a psutil.py or yaml.py lying
# in the folder the wizard is started from (as root, maybe an upload or log folder) would be
# imported instead of the real one. This package is already found; later imports must not
# look there. (A planted wizard.py or wizard/ itself is found before this runs: start the
# `nginx-502-wizard` command, or `python -P -m wizard` (-I before 3.11), in folders you
# do not trust.)
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from wizard.cli import main

sys.exit(main())
