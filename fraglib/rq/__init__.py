"""One module per research question: its science in one place.

Each module holds its figures dataclass and figure function (`compute(record)`), its costly
analyses, the paper's numbers for it (`PAPER`), its claims (`check(ours, paper)`), its key
figure and its row of the table (`QUESTION`, a `figures.Question`). `questions.py` finds the
modules here and assembles the table from their rows: adding a question is one module here and
one chapter in `notebooks/`. A question module reads arrays only: it never imports the run
store, the study, the charts or the book (tests/test_layers.py).
"""
