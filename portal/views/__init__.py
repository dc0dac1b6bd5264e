"""The portal's pages: auth (register, log in/out), student, office."""
