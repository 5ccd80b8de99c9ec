"""The region's monthly report (XLSX and PDF), made by the workers on the 1st and kept with its sha256."""
