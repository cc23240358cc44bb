/** The page's script and styles, bundled at transpile/compile time (bundle.ts). */
import { bundleDashboardScript, dashboardStyles } from "./bundle.ts" with { type: "macro" };

export const SCRIPT: string = bundleDashboardScript();
export const STYLES: string = dashboardStyles();
