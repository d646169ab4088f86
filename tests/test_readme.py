"""The README cannot drift: its --help block and its CI command are checked here."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from syntask_doctor.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_help_block_matches_the_real_help() -> None:
    block = re.search(r"```text\n(Usage: syntask-doctor.*?)```", README, re.DOTALL)
    assert block is not None
    real = (
        CliRunner().invoke(main, ["--help"], prog_name="syntask-doctor", terminal_width=100).output
    )
    assert block.group(1).strip() == real.strip()


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.DOTALL)
    assert len(commands) >= 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
