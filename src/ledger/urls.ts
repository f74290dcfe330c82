/** A database URL with its password hidden, for messages. */
export const maskUrl = (url: string): string => url.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@");
