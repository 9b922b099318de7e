dist_doc_DATA += docs/examples.md
