"""Allow ``python -m syntask_doctor``."""

from syntask_doctor.cli import main

if __name__ == "__main__":
    main()
