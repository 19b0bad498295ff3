"""formcheck's web app: `streamlit run app.py` (or `make app`), then open http://localhost:8501.

Thin entry point: the pages live in src/formcheck/ui/.
"""

from formcheck.ui.app import main

main()
