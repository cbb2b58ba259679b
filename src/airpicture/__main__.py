import sys

from airpicture.cli import main

sys.exit(main())
