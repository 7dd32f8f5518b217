"""Built-in evaluation: a question set run through the real API and scored by execution match.

questions.py loads a question file and computes each expected answer with its reference
SQL over the dataset files (DuckDB); score.py decides whether an answer matches;
run.py asks the agent server and classifies; report.py prints the table and JSON.
"""
