"""The web app (`web/`, built by Vite into `web/dist`), served by the api at `/`."""
