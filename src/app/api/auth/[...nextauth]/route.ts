import NextAuth from "next-auth";
import { authOptions } from "~/server/auth/next-auth";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

type Context = { params: Promise<{ nextauth: string[] }> };

// The options are built per process on first request (see authOptions).
function handler(req: Request, context: Context): Promise<Response> {
  return NextAuth(authOptions())(req, context);
}

export { handler as GET, handler as POST };
