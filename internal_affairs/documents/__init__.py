"""Official documents (公文): outgoing drafts riding on ``doc_outgoing`` cases, their versions,
numbers, sealed renderings and deliveries to recipient agencies (DESIGN §7b)."""
