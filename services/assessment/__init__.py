"""Impact assessment: severity with its working, and the obligations the law attaches."""
