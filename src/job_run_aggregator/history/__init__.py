"""History: percentile queries, the query_results.json file in every era's format, and comparing two of them."""
