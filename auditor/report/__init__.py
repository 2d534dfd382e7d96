"""Report writers: JSON (the machine contract), HTML (security reviews), terminal (rich summary)."""
