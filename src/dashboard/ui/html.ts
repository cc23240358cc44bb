/** htm's tagged templates over preact: components without a JSX build step. */
import htm from "htm";
import { h } from "preact";

export const html = htm.bind(h);
