"""The Streamlit app: page scripts in ui/pages/, shared pieces beside them (thin over pipeline)."""
