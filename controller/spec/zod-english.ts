import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * `zod/mini` starts with no locale, so every issue without a message of its
 * own would read "Invalid input". tandem's messages build on zod's English
 * ones (`validateSite` turns "Invalid input: expected number, received
 * undefined" into "is required"), so every module with a zod schema imports
 * this first. The classic API set the same locale on its own.
 */
config(en());
