"""The baseline of the first-paint figure: a bare Textual app, one Static and a Footer."""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Static


class Bare(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static("Hello from a bare Textual app.")
        yield Footer()


if __name__ == "__main__":
    Bare().run()
