import argparse
from typing import NoReturn


class ArgumentParser(argparse.ArgumentParser):
    """argparse's, with its errors on one line: argparse prints the whole usage block before the
    message, and wrong arguments get a one-line error here as in the scraper's own CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (--help for usage)\n")
