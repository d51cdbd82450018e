// A single-page app: rendered in the browser only, served by the api as static files.
export const ssr = false;
export const prerender = false;
