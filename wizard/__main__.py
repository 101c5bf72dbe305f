"""`python -m wizard` is the same as the `nginx-502-wizard` command."""

import sys

from wizard.cli import main

sys.exit(main())
