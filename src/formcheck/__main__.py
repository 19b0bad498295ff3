"""`python -m formcheck analyze ...`"""

import sys

from formcheck.cli import main

sys.exit(main())
