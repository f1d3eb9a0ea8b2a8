"""Provider reports: what OpenAI and Anthropic themselves report as usage and bill as cost,
imported per UTC day beside what llmledger tracked (see ``docs/reports.md``)."""
