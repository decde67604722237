import { Type } from 'typebox';

/** The body of every error answer. */
export const ErrorSchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});
