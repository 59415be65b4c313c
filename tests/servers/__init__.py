"""Local stand-ins for the services the package talks to (LangSmith, ...), for offline tests."""
