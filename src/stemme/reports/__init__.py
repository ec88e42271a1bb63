"""Reports: charts (Altair, rendered to SVG by vl-convert on the server, no JavaScript in
the browser) and, later, the district reports in HTML and PDF."""
