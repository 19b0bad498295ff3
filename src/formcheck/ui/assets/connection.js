// The app's words for Streamlit's connection dialog. While the server cannot be reached, Streamlit
// shows "Streamlit server is not responding. Are you connected to the internet?" (or, on
// "localhost", a hint to run "streamlit run yourscript.py"). formcheck runs on this computer, so
// this rewrites that dialog's text, whenever it appears, to say what is true and what to do.
(() => {
  if (window.formcheckConnectionText) return; // installed once per page load
  window.formcheckConnectionText = true;
  const MESSAGE =
    "formcheck's server stopped or is restarting, so this page cannot reach it. If you " +
    "stopped it, start it again with \u201cmake app\u201d in the formcheck folder. This page " +
    "reconnects by itself when the server is back.";
  const STREAMLIT_TEXT = /Streamlit server is not responding|Is Streamlit still running/;
  const rewrite = () => {
    for (const dialog of document.querySelectorAll('[role="dialog"]')) {
      const walker = document.createTreeWalker(dialog, NodeFilter.SHOW_TEXT);
      let rewritten = false;
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (STREAMLIT_TEXT.test(node.nodeValue)) {
          node.nodeValue = MESSAGE;
          rewritten = true;
        }
      }
      if (rewritten) {
        for (const code of dialog.querySelectorAll('[data-testid="stErrorCodeBlock"]')) {
          code.style.display = "none"; // "streamlit run yourscript.py": the command is above
        }
      }
    }
  };
  new MutationObserver(rewrite).observe(document.body, {
    childList: true,
    subtree: true,
    characterData: true,
  });
  rewrite();
})();
