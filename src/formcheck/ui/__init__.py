"""The Streamlit app: page scripts in ui/pages/, shared pieces beside them. Thin over formcheck.pipeline."""
